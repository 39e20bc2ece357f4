"""The three models as the Home page shows them: `print(model)` at the report's sizes, then the weights.

Kept as text so the first page a class opens renders without waiting for torch to import (about 2 s of a
cold start); tests/test_models.py rebuilds every model and checks that this text still matches it exactly.
"""

STRUCTURES: dict[str, str] = {  # by model key (rnnviz.registry)
    'rnn': (
        'RNN(\n'
        '  (i2h): Linear(in_features=185, out_features=128, bias=True)\n'
        '  (i2o): Linear(in_features=185, out_features=18, bias=True)\n'
        '  (softmax): LogSoftmax(dim=1)\n'
        ')\n'
        '\n'
        'weights (27,156 numbers):\n'
        '  i2h.weight: 128 x 185\n'
        '  i2h.bias: 128\n'
        '  i2o.weight: 18 x 185\n'
        '  i2o.bias: 18'
    ),
    'lstm': (
        'LSTM(\n'
        '  (rnn): LSTM(57, 64)\n'
        '  (out): Linear(in_features=64, out_features=18, bias=True)\n'
        '  (softmax): LogSoftmax(dim=-1)\n'
        ')\n'
        '\n'
        'weights (32,658 numbers):\n'
        '  rnn.weight_ih_l0: 256 x 57\n'
        '  rnn.weight_hh_l0: 256 x 64\n'
        '  rnn.bias_ih_l0: 256\n'
        '  rnn.bias_hh_l0: 256\n'
        '  out.weight: 18 x 64\n'
        '  out.bias: 18'
    ),
    'mylstm': (
        'MyLSTM(\n'
        '  (out): Linear(in_features=64, out_features=18, bias=True)\n'
        '  (softmax): LogSoftmax(dim=-1)\n'
        ')\n'
        '\n'
        'weights (32,402 numbers):\n'
        '  W_i: 57 x 64\n'
        '  U_i: 64 x 64\n'
        '  b_i: 64\n'
        '  W_f: 57 x 64\n'
        '  U_f: 64 x 64\n'
        '  b_f: 64\n'
        '  W_g: 57 x 64\n'
        '  U_g: 64 x 64\n'
        '  b_g: 64\n'
        '  W_o: 57 x 64\n'
        '  U_o: 64 x 64\n'
        '  b_o: 64\n'
        '  out.weight: 18 x 64\n'
        '  out.bias: 18'
    ),
}
