"""Page files, relative to streamlit_app.py, as st.navigation registers them and st.page_link names them."""

HOME = "pages/home.py"
TRAIN = "pages/train.py"
EVALUATE = "pages/evaluate.py"
GATES = "pages/gates.py"
DATA = "pages/data.py"

PAGES = (
    (HOME, "Home", ":material/home:"),
    (TRAIN, "Train", ":material/model_training:"),
    (EVALUATE, "Evaluate", ":material/grid_on:"),
    (GATES, "Gates", ":material/tune:"),
    (DATA, "Data", ":material/dataset:"),
)
