"""Speech corpora: lexicons, multi-talker synthesis with phone alignments, acoustic features,
continuous streams, and loaders for real corpora (TIMIT, LibriSpeech + MFA, EARSHOT) and for any
folder of audio + Praat/MFA TextGrids (:func:`load_textgrid_corpus`).

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
from .loaders import load_earshot_corpus, load_librispeech_mfa, load_timit, read_earshot_alignment
from .phonology import IPA_TO_ARPABET, XSAMPA_TO_IPA, detect_phone_set, phone_to_arpabet
from .streams import make_stream
from .synthesis import Synthesis, synthesize
from .textgrid import (
    TextGridError,
    corpus_from_tiers,
    lexicon_from_alignments,
    load_textgrid_corpus,
    phone_report,
    read_textgrid,
)
from .talkers import DEFAULT_TALKERS, TALKERS, Talker, get_talker, list_talkers, register_talker

__all__ = [
    "AudioFileError", "Corpus", "CorpusConfig", "CorpusError", "DEFAULT_TALKERS",
    "EspeakUnavailableError", "FEATURE_KINDS", "FeatureScaler", "Lexicon", "LexiconConfig",
    "SplitConfig", "Synthesis", "TALKERS", "Talker", "WordNotFoundError", "build_corpus",
    "cmudict_pronunciations", "compute_features", "earshot_spectrogram", "envelope",
    "gammatone_spectrogram", "get_talker", "library_status", "list_talkers", "load_corpus",
    "logmel_spectrogram", "onsets", "read_audio", "read_earshot_pronunciations",
    "read_jtrace_lexicon", "read_lexicon_tsv", "register_talker", "stimulus_id", "synthesize",
    "IPA_TO_ARPABET", "TextGridError", "XSAMPA_TO_IPA", "corpus_from_tiers", "detect_phone_set",
    "lexicon_from_alignments", "load_earshot_corpus", "load_librispeech_mfa", "load_textgrid_corpus",
    "load_timit", "make_stream", "phone_report", "phone_to_arpabet", "read_earshot_alignment",
    "read_textgrid",
]
