"""An LSTM's gate vocabulary: the gates, which of them are sigmoids, what a cell holds after a letter, their
names, and when a gate counts as saturated. Plain constants without torch, so charts and the CLI can read them
without loading the models."""

GATES = ("i", "f", "g", "o")  # an LSTM's gates, in the report's order
SIGMOID_GATES = ("i", "f", "o")  # values in [0, 1]: they can be clamped, and they saturate
STATE_KEYS = (*GATES, "c", "h")  # what an LSTM holds after each letter
STATE_LABELS = {"i": "input gate", "f": "forget gate", "g": "candidate g", "o": "output gate",
                "c": "cell state c", "h": "hidden state h"}
SATURATED = (0.1, 0.9)  # Karpathy, Johnson and Fei-Fei (2015): a gate below 0.1 or above 0.9 is saturated
