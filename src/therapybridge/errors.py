"""Every error the library raises, under one root so callers can catch them all.

::

    TherapyBridgeError
    ├── InputError                  the input recording cannot be used
    │   ├── InputNotFoundError      no such file or directory
    │   ├── InputPermissionError    the file exists but cannot be read
    │   ├── NoAudioFilesError       a directory with no audio files in it
    │   ├── AudioDecodeError        not decodable as audio (corrupt, not a media file)
    │   ├── NoAudioStreamError      a media file without an audio stream
    │   ├── EmptyAudioError         decodes to no samples
    │   └── InvalidAudioError       samples that are not finite (NaN/Inf), or not laid out [channels, samples]
    ├── ConfigurationError          options that do not fit together or are out of range
    ├── DependencyError             an optional package needed for the chosen feature is missing
    ├── ModelError                  a model cannot be loaded
    │   └── ModelNotFoundError      no weights for that name; says how to install them
    ├── RemoteBackendError          the opt-in remote recognition backend failed
    │   ├── RemoteNotAllowedError   a remote backend was chosen without --allow-remote
    │   ├── RemoteAuthError         the API key is missing or rejected
    │   ├── RemoteQuotaError        the account's quota is exhausted
    │   └── RemoteUnavailableError  the service kept failing after bounded retries
    ├── OutputError                 outputs cannot be written (permissions, disk full)
    ├── TranscriptFormatError       a transcript JSON does not follow the schema
    ├── ProfileError                the voice-profile store cannot be used
    ├── ProcessingError             a stage failed unexpectedly (the cause is chained)
    └── Cancelled                   the run was interrupted (SIGINT/SIGTERM)

Each message is one readable sentence that says what went wrong and, where possible, what to do.
"""

from __future__ import annotations


class TherapyBridgeError(Exception):
    """Root of every error raised by therapybridge."""


class InputError(TherapyBridgeError):
    """The input recording cannot be used."""


class InputNotFoundError(InputError, FileNotFoundError):
    """The input path does not exist."""


class InputPermissionError(InputError, PermissionError):
    """The input exists but cannot be read."""


class NoAudioFilesError(InputError):
    """A directory was given that contains no audio files."""


class AudioDecodeError(InputError):
    """The file cannot be decoded as audio."""


class NoAudioStreamError(AudioDecodeError):
    """The media file has no audio stream."""


class EmptyAudioError(InputError):
    """The recording decodes to zero samples."""


class InvalidAudioError(InputError):
    """The recording contains non-finite samples (NaN or Inf), or an array is not ``[channels, samples]``."""


class ConfigurationError(TherapyBridgeError, ValueError):
    """Options that do not fit together or are out of range."""


class DependencyError(TherapyBridgeError, ImportError):
    """An optional dependency needed for the requested feature is not installed."""


class ModelError(TherapyBridgeError):
    """A model could not be loaded."""


class ModelNotFoundError(ModelError):
    """No weights were found for the requested model name or path."""


class RemoteBackendError(TherapyBridgeError):
    """The remote recognition backend failed."""


class RemoteNotAllowedError(RemoteBackendError):
    """A remote backend was selected without explicit permission to send audio off the machine."""


class RemoteAuthError(RemoteBackendError):
    """The API key is missing or was rejected."""


class RemoteQuotaError(RemoteBackendError):
    """The remote account's quota is exhausted."""


class RemoteUnavailableError(RemoteBackendError):
    """The remote service kept failing after the bounded retries."""


class OutputError(TherapyBridgeError, OSError):
    """An output file could not be written."""


class TranscriptFormatError(TherapyBridgeError, ValueError):
    """A transcript document does not follow the schema."""


class ProfileError(TherapyBridgeError):
    """The voice-profile store cannot be read or written."""


class ProcessingError(TherapyBridgeError):
    """A stage failed for a reason that is not the input's or the configuration's fault."""


class Cancelled(TherapyBridgeError):
    """The run was interrupted before it finished."""
