"""Speech corpora: lexicons, multi-talker synthesis with phone alignments, acoustic features,
continuous streams, and loaders for real corpora (TIMIT, LibriSpeech + MFA, EARSHOT).

See ``docs/speech.md``.
"""

from ._audio import AudioFileError, read_audio
from ._espeak import EspeakUnavailableError, library_status
from .corpus import (
    Corpus,
    CorpusConfig,
    CorpusError,
    LexiconConfig,
    SplitConfig,
    build_corpus,
    load_corpus,
    stimulus_id,
)
from .features import (
    FEATURE_KINDS,
    FeatureScaler,
    compute_features,
    earshot_spectrogram,
    envelope,
    gammatone_spectrogram,
    logmel_spectrogram,
    onsets,
)
from .lexicon import (
    Lexicon,
    WordNotFoundError,
    cmudict_pronunciations,
    read_earshot_pronunciations,
    read_jtrace_lexicon,
    read_lexicon_tsv,
)
from .synthesis import Synthesis, synthesize
from .talkers import DEFAULT_TALKERS, TALKERS, Talker, get_talker, list_talkers, register_talker

__all__ = [
    "AudioFileError", "Corpus", "CorpusConfig", "CorpusError", "DEFAULT_TALKERS",
    "EspeakUnavailableError", "FEATURE_KINDS", "FeatureScaler", "Lexicon", "LexiconConfig",
    "SplitConfig", "Synthesis", "TALKERS", "Talker", "WordNotFoundError", "build_corpus",
    "cmudict_pronunciations", "compute_features", "earshot_spectrogram", "envelope",
    "gammatone_spectrogram", "get_talker", "library_status", "list_talkers", "load_corpus",
    "logmel_spectrogram", "onsets", "read_audio", "read_earshot_pronunciations",
    "read_jtrace_lexicon", "read_lexicon_tsv", "register_talker", "stimulus_id", "synthesize",
]
