"""The sketch model's world: the procedural storyboard renderer and the words its prompts may use."""
