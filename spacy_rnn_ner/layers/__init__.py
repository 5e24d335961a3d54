"""thinc layers wrapping PyTorch modules."""
from . import fork_safety  # noqa: F401  (registers the fork hook)
from .char_cnn import CharCNN, char_cnn_layer, word_char_ids
from .packed_rnn import PackedRNN, packed_rnn_layer, packing_order

__all__ = ["CharCNN", "char_cnn_layer", "word_char_ids", "PackedRNN", "packed_rnn_layer", "packing_order"]
