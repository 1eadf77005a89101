"""Video and image file I/O: read any common clip into uint8 RGB frames, write clips atomically.

Frames are always uint8 RGB numpy arrays shaped `[T, H, W, 3]` (one frame: `[H, W, 3]`); a frame
rate is always an exact `fractions.Fraction` (NTSC rates are `24000/1001`, never `23.976`).

Reading (`read_video`, `read_image`) goes through PyAV and accepts video containers (mp4, mov,
mkv, webm, avi, gif…), still images (png, jpg, webp, bmp…) and folders of PNG frames. Writing
(`write_video`) makes H.264 `.mp4` deliverables, ProRes 422 HQ `.mov` masters, bit-exact FFV1
`.mkv` files (the media cache) and PNG frame folders. Every failure a user can cause is raised
as a `MediaError` whose message is a plain sentence and whose `detail` holds the technical part.
"""

from engine.media.reading import iter_video, read_image, read_metadata, read_video
from engine.media.video import MAX_SIDE, Video, to_fraction
from engine.media.writing import write_video

__all__ = [
    "MAX_SIDE",
    "Video",
    "iter_video",
    "read_image",
    "read_metadata",
    "read_video",
    "to_fraction",
    "write_video",
]
