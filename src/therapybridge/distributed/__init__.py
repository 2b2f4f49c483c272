"""Archives on a Ray cluster: a pool of actors, each holding one loaded pipeline, fed files by the driver.

``RayArchive(pipeline, RayOptions(...)).process_many(files, output_dir=...)`` has the same contract as
``AudioTranscriptionPipeline.process_many``: one ``BatchItem`` per input, a failed input reported and the batch
going on. Workers only compute; the driver writes every output, atomically, with the pipeline's own writer.
Needs the ``ray`` extra (``pip install 'therapybridge[ray]'``).
"""

from __future__ import annotations

from .options import RayOptions
from .pool import ArchiveProgress, RayArchive
from .report import ClusterReport, FileRecord

__all__ = ["ArchiveProgress", "ClusterReport", "FileRecord", "RayArchive", "RayOptions"]
