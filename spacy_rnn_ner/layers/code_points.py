"""The characters of a string as Unicode code points: the one place the character layers
(:mod:`.char_cnn`, :mod:`.char_lm_features`) and the character language model
(:mod:`.char_lm_model`) turn text into numbers."""
import numpy
from thinc.types import Ints1d


def code_points(text: str) -> Ints1d:
    """``(len(text),)`` int64 array: the code point of each character of ``text``."""
    return numpy.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype("int64")
