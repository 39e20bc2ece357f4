"""Page files, relative to streamlit_app.py, as st.navigation registers them and st.page_link names them.

The folder is app_pages/, not pages/: Streamlit runs a folder named pages/ in its older multipage mode
until st.navigation has run once in the process, so a deep link opened first after a restart (and every
AppTest run) would bypass streamlit_app.py.
"""

HOME = "app_pages/home.py"
TRAIN = "app_pages/train.py"
EVALUATE = "app_pages/evaluate.py"
GATES = "app_pages/gates.py"
DATA = "app_pages/data.py"
WHY = "app_pages/why.py"
REPORT = "app_pages/report.py"

PAGES = (
    (HOME, "Home", ":material/home:"),
    (TRAIN, "Train", ":material/model_training:"),
    (EVALUATE, "Evaluate", ":material/grid_on:"),
    (GATES, "Gates", ":material/tune:"),
    (WHY, "Why LSTM?", ":material/psychology:"),
    (REPORT, "The report", ":material/description:"),
    (DATA, "Data", ":material/dataset:"),
)
