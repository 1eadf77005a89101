"""The sketch model's text encoder: the prompt's known words as tokens, embedded and contextualised."""

from __future__ import annotations

import torch
from torch import nn

from engine.backends.sketch.config import TextEncoderConfig
from engine.sketch.vocabulary import VOCABULARY, normalize_prompt

PAD = 0  # token id 0 is padding; vocabulary word i has id i + 1


def tokenize(prompts: list[str], max_tokens: int) -> torch.Tensor:
    """Token ids `[B, L]` of each prompt's known words, padded with 0 (unknown words are dropped)."""
    index = {word: i + 1 for i, word in enumerate(VOCABULARY)}
    ids = torch.zeros(len(prompts), max_tokens, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        tokens = [index[t] for t in normalize_prompt(prompt).tokens][:max_tokens]
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
    return ids


class SketchTextEncoder(nn.Module):
    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(len(VOCABULARY) + 1, config.dim, padding_idx=PAD)
        self.position = nn.Parameter(torch.zeros(1, config.max_tokens, config.dim))
        layer = nn.TransformerEncoderLayer(
            config.dim, config.heads, 4 * config.dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings `[B, L, D]`; padding positions are zero, so an empty prompt is all zeros."""
        pad = ids == PAD  # [B, L]
        x = self.embed(ids) + self.position[:, : ids.shape[1]]  # [B, L, D]
        if not bool(pad.all()):
            # rows that are all padding would give NaN attention: let them attend freely, then zero them
            attn_pad = pad & ~pad.all(dim=1, keepdim=True)
            x = self.layers(x, src_key_padding_mask=attn_pad)
        x = self.norm(x)
        return x.masked_fill(pad[..., None], 0.0)  # like Wan: zeros after the encoder
