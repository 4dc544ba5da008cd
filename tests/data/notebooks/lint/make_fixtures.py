"""Write the lint rule fixtures: one small notebook per rule, with cells that must be reported
and cells that must not (``<CODE>.ipynb``), plus ``<CODE>-ok.ipynb`` for notebook-level rules.

Run ``python tests/data/notebooks/lint/make_fixtures.py`` after editing, then
``pytest tests/unit/lint --update-golden`` and review the golden diff.

Notebook metadata ``nbprod-fixture`` gives the test a ``LintConfig`` override (``config``)
and the file name the notebook pretends to have (``filename``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

# Credentials are assembled from parts so that this script is not itself a finding.
FAKE_AWS = "AKIA" + "IOSFODNN7EXAMPLE"
FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
FAKE_GITHUB = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
FAKE_OPENAI = "sk-proj-" + "abc123def456ghi789jkl012mno345pqr678"
FAKE_SLACK = "xoxb-" + "123456789012-abcdefABCDEF"
FAKE_JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJlX19f"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----"


def code(source: str, count: int | None = None, tags: list[str] | None = None,
         outputs: list[dict] | None = None) -> dict:
    return {"cell_type": "code", "source": source, "execution_count": count,
            "tags": tags or [], "outputs": outputs or []}


def md(source: str) -> dict:
    return {"cell_type": "markdown", "source": source}


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def error(ename: str, evalue: str, traceback: list[str]) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}


def display(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {}}


FIXTURES: dict[str, dict] = {
    "NB001": {"cells": [
        md("# Order"), code("import math", 1), code("x = math.pi", 3), code("y = x * 2", 2),
        code("z = y", 4),
    ]},
    "NB002": {"cells": [
        code("a = 1", 1), code("b = a + 1", 2), code("c = b + 1", 5),
    ]},
    "NB003": {"cells": [
        code("a = 1", 1), code("b = 2"), code(""), code("c = a", 2), code("d = 4"),
    ]},
    "NB004": {"cells": [
        code("print(threshold)\nlimit = 3"), code("threshold = 0.5\nprint(limit)"),
    ]},
    "NB005": {"cells": [
        code("import pandas as pd", 1), code("clean.describe()", 4), code("pd.DataFrame()", 5),
    ]},
    "NB006": {"cells": [
        code("import numpy as np\nrate = 0.1\ndef decay(x):\n    return x * rate * np.e"),
        code("decay(2)"),
        code("import numpy as np\nrate = 0.5"),
        code("def other(y):\n    return y"),
    ]},
    "NB007": {"cells": [
        code("1 / 0", 1, outputs=[
            stream("before\n"),
            error("ZeroDivisionError", "division by zero",
                  ["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]),
        ]),
        code("print('ok')", 2, outputs=[stream("ok\n")]),
        code("raise ValueError('expected')", 3, tags=["raises-exception"],
             outputs=[error("ValueError", "expected", ["ValueError: expected"])]),
    ]},
    "NB008": {"cells": [md("# Title"), code("   \n"), code("x = 1"), md(""), code("y = 2")]},
    "NB009": {"config": {"max_output_bytes": 200}, "cells": [
        code("print('x' * 300)", 1, outputs=[stream("x" * 300 + "\n")]),
        code("print('small')", 2, outputs=[stream("small\n")]),
    ]},
    "NB010": {"config": {"max_cell_lines": 3}, "cells": [
        code("a = 1\nb = 2\nc = 3\nd = 4\ne = 5"), code("f = 1\ng = 2"),
    ]},
    "NB011": {"config": {"max_cells": 3}, "cells": [
        md("# Many cells"), code("a = 1"), code("b = 2"), code("c = 3"),
    ]},
    "NB011-ok": {"config": {"max_cells": 3}, "cells": [md("# Few cells"), code("a = 1")]},
    "NB012": {"cells": [code("import os"), md("# A title too late"), code("os.getcwd()")]},
    "NB012-ok": {"cells": [code("#| default_exp core"), md("# Core"), code("x = 1")]},
    "NB013": {"filename": "churn-Copy1.ipynb", "cells": [md("# Churn"), code("x = 1")]},
    "NB013-ok": {"filename": "churn_model.ipynb", "cells": [md("# Churn"), code("x = 1")]},
    "NB014": {"cells": [
        code("import math\nx = math.pi"), code('print "x is", x'),
        code("try:\n    y = 1 / x\nexcept ZeroDivisionError, e:\n    pass"),
    ]},
    "NB101": {"config": {"require_parameters": True}, "cells": [
        code("import math"), code("alpha = 0.5\nname = 'x'"), code("beta = math.sqrt(alpha)"),
    ]},
    "NB101-ok": {"config": {"require_parameters": True}, "cells": [
        code("alpha = 0.5", tags=["parameters"]), code("beta = alpha * 2"),
    ]},
    "NB102": {"cells": [
        code("a = 1", tags=["parameters"]), code("b = a"), code("c = 2", tags=["parameters"]),
    ]},
    "NB103": {"cells": [
        code("print(epochs)\nprint(other)"), code("epochs = 10", tags=["parameters"]),
        code("print(epochs)"),
    ]},
    "NB104": {"cells": [
        code("import datetime"),
        code("lr = 0.1\nstart = datetime.date.today()\nsizes = [1, 2]\nneg = -1",
             tags=["parameters"]),
    ]},
    "NB105": {"cells": [
        code("lr = 0.1\nepochs: int = 10\nname = 'run'  # run name\nmissing = None\n"
             "flags = [1, 2]", tags=["parameters"]),
        code("total = lr * epochs"),
    ]},
    "NB106": {"cells": [
        code("import pandas as pd\n%matplotlib inline"), code("df = pd.DataFrame()"),
        code("n = 1", tags=["parameters"]),
    ]},
    "NB106-ok": {"cells": [
        code("import pandas as pd\n%matplotlib inline"), code("n = 1", tags=["parameters"]),
        code("df = pd.DataFrame()"),
    ]},
    "NB107": {"cells": [
        code("n_rows = 100\nimport os\nfor i in range(2):\n    pass\n\"\"\"Parameters.\"\"\"",
             tags=["parameters"]),
        code("print(n_rows)"),
    ]},
    "NB201": {"cells": [
        code('df = pd.read_csv("/home/ana/data/train.csv")\nurl = "https://example.com/a"\n'
             'rel = "data/train.csv"\nwin = "C:\\\\Users\\\\ana\\\\x.csv"\napi = "/api/v1/items"'),
        code('%cd /tmp\nfolder = "/tmp/scratch"'),
        code('raw = "/mnt/shared/raw/"'),
    ]},
    "NB202": {"cells": [code('p = "~/models/m.joblib"\nq = "models/m.joblib"\nr = "~"')]},
    "NB203": {"cells": [
        code("!pip install xgboost\n%pip install -q lightgbm\nimport os"),
        code("if True:\n    !pip install foo"),
        code("!pip list"),
        code("%conda install numpy"),
        code("%%bash\necho start\npip install -r requirements.txt"),
    ]},
    "NB204": {"cells": [
        code("%cd ../data"), code("import os\nos.chdir('/tmp')"), code("os.getcwd()"),
    ]},
    "NB205": {"cells": [
        code('import pandas as pd\ndf = pd.read_csv("data/missing.csv")\n'
             'ok = pd.read_csv("data/present.csv")\nwith open("out.txt", "w") as f:\n'
             '    pass\nremote = pd.read_csv("https://example.com/x.csv")'),
        code("!wget -O data/downloaded.csv https://example.com/d.csv"),
        code('d = pd.read_csv("data/downloaded.csv")\ntext = open("notes.txt").read()'),
        code("!head -3 data/peeked.csv\n# !curl -o data/commented.csv https://example.com/c.csv"),
        code('p = pd.read_csv("data/peeked.csv")\nc = pd.read_csv("data/commented.csv")\n'
             'a = pd.read_csv("/nbprod-no-such-folder/a.csv")'),
    ]},
    "NB206": {"cells": [
        code('import pandas as pd\nstub = pd.read_csv("data/lfs.csv")\n'
             'real = pd.read_csv("data/present.csv")'),
    ]},
    "NB207": {"cells": [
        code("import os\nimport pandas as pd\nimport xgboost\n"
             "from sklearn.linear_model import LinearRegression\nimport localmod"),
        code("import matplotlib.pyplot as plt\nfrom xgboost import XGBClassifier"),
        code("from stocker import Stocker"),
    ]},
    "NB208": {"cells": [
        code("import os\nimport pandas as pd\nimport nbprod_absent_package\n"
             "from nbprod_absent_package.sub import thing\nimport localmod"),
        code("try:\n    import nbprod_optional_absent\nexcept ImportError:\n    pass"),
        code("from stocker import Stocker"),
        code("from mpl_toolkits.mplot3d import Axes3D\nfrom mpl_toolkits.basemap import Basemap"),
        code("!f2py -c dprod.f -m nbprod_built_here"),
        code("import nbprod_built_here"),
    ]},
    "NB301": {"cells": [
        code("%matplotlib inline\ndef f():\n    return 1", tags=["export"]),
        code("!ls"),
        code("#| export\n!echo hi"),
    ]},
    "NB302": {"cells": [
        code('import pandas as pd\nTHRESHOLD = 0.5\ndef clean(df):\n    return df.dropna()\n'
             'print("loaded")\ndf = pd.read_csv("x.csv")\nclean\n"""Docs."""', tags=["export"]),
        code('print("fine")'),
    ]},
    "NB303": {"cells": [
        code("THRESHOLD = 0.7"),
        code("def flag(scores):\n    return scores > THRESHOLD\n\n"
             "def ok(x, limit=1):\n    return x > limit", tags=["export"]),
    ]},
    "NB304": {"cells": [
        code("columns = ['age']"),
        code("FEATURES = columns + ['tenure']\nOTHER = 1", tags=["export"]),
        code("MORE = OTHER + 1", tags=["export"]),
    ]},
    "NB305": {"cells": [
        code('name = input("Name? ")\nfrom getpass import getpass\npw = getpass()\n'
             'value = int("3")'),
    ]},
    "NB401": {"cells": [
        code(f'key = "{FAKE_AWS}"\nregion = "eu-west-1"'),
        code("show()", 1, outputs=[
            stream(f'aws_secret_access_key = "{FAKE_AWS_SECRET}"\n'),
            display({"image/png": "iVBORw0KGgo" + "AKIAABCDEFGHIJKLMNOP" + "==",
                     "text/plain": "<Figure size 640x480>"}),
        ]),
    ]},
    "NB402": {"cells": [
        code(f'token = "{FAKE_GITHUB}"\nshort = "ghp_short"'),
        md(f"Clone with `https://{FAKE_GITHUB}@github.com/org/repo`"),
    ]},
    "NB403": {"cells": [
        code(f'client = OpenAI(api_key="{FAKE_OPENAI}")\n'
             'pkg = "sk-learn-is-not-a-key-but-a-long-identifier"'),
        code("post()", 1, outputs=[display({"text/html": f"<p>sent with {FAKE_SLACK}</p>",
                                             "text/plain": f"sent with {FAKE_SLACK}"})]),
    ]},
    "NB404": {"cells": [
        code(f'key = """{PEM}\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"""'),
        code('public = """-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----"""'),
    ]},
    "NB405": {"cells": [
        code('engine = create_engine("postgresql://ana:s3cret@db.internal/sales")\n'
             'other = "postgresql://ana:<password>@db/sales"\nplain = "https://example.com/path"'),
        code("connect()", 1, outputs=[error(
            "OperationalError", "cannot connect",
            ["Traceback (most recent call last)",
             "OperationalError: mysql://root:hunter22@localhost/db refused"],
        )]),
    ]},
    "NB406": {"cells": [
        code('password = "s3cret-pa55"\ndb_password = ""\n'
             'conn = connect(user="ana", password="hunter2!x")\n'
             'config = {"api_key": "abcd1234efgh"}\ntoken_pattern = "\\\\w+"\n'
             'api_key = os.environ["API_KEY"]\nsecret = "your_secret_here"'),
    ]},
    "NB407": {"cells": [
        code("login()", 1, outputs=[stream(f"Bearer {FAKE_JWT}\n")]),
        code('prefix = "eyJ"'),
    ]},
    "NB501": {"cells": [
        code("from sklearn.cross_validation import train_test_split\nimport sklearn.grid_search\n"
             "from sklearn.model_selection import KFold"),
    ]},
    "NB502": {"cells": [
        code("from sklearn.preprocessing import Imputer\nfrom sklearn.impute import SimpleImputer\n"
             "names = vec.get_feature_names()\nnames_out = vec.get_feature_names_out()\n"
             "from sklearn import datasets\nboston = datasets.load_boston()"),
    ]},
    "NB503": {"cells": [
        code('import matplotlib.pyplot as plt\nplt.style.use("seaborn-whitegrid")\n'
             'plt.style.use("ggplot")\nwith plt.style.context(["seaborn", "dark_background"]):\n'
             '    pass\nplt.style.use("seaborn-v0_8-white")'),
        code("%matplotlib inline\nplt.style.use('seaborn-darkgrid')"),
    ]},
    "NB504": {"cells": [
        code('df.groupby("a", axis=1).sum()\ndf.groupby("a").sum()\n'
             "df.rolling(3, axis=0).mean()\nnp.sum(x, axis=1)"),
    ]},
    "NB505": {"cells": [
        code('import pandas as pd\nresults = pd.DataFrame()\n'
             'results = results.append({"a": 1}, ignore_index=True)\nrows = []\nrows.append(1)\n'
             'other = pd.read_csv("x.csv")\nboth = other.append(results)'),
    ]},
    "NB506": {"cells": [
        code("import pandas as pd\nstart = pd.datetime(2020, 1, 1)\n"
             "smooth = pd.rolling_mean(s, 7)\nok = pd.Timestamp(2020, 1, 1)\n"
             "from pandas.util.testing import assert_frame_equal"),
    ]},
    "NB507": {"cells": [
        code('X = df.as_matrix()\nY = df.as_matrix(columns=["a"])\n'
             "for k, v in df.iteritems():\n    pass\nZ = df.to_numpy()"),
    ]},
    "NB508": {"cells": [
        code("enc = OneHotEncoder(sparse=False)\nenc2 = OneHotEncoder(sparse_output=False)\n"
             "rmse = mean_squared_error(y, p, squared=False)\n"
             'df = pd.read_csv("x.csv", error_bad_lines=False)\nplt.hist(x, normed=True)\n'
             "plt.hist(x, density=True)\nparser.add(sparse=True)"),
    ]},
    "NB509": {"cells": [
        code('import matplotlib\ncmap = matplotlib.cm.get_cmap("viridis")\n'
             'ok = matplotlib.colormaps["viridis"]\nax = fig.gca(projection="3d")\n'
             'ax2 = fig.gca()\nax.set_axis_bgcolor("white")'),
        code("plt.plot(x, y, ls='steps-mid')\nplt.plot(x, y, drawstyle='steps-mid')\n"
             "plt.plot(x, y, linestyle='steps')\nplt.plot(x, y, ls='--')"),
    ]},
    "NB510": {"cells": [
        code('import pandas as pd\nhours = pd.date_range("2015-07-03", periods=8, freq="H")\n'
             'ok = pd.date_range("2015-07-03", periods=8, freq="h")\n'
             'monthly = sales.resample("M").sum()\nstarts = sales.resample("MS").sum()\n'
             'quarter = sales.asfreq(freq="15T")\nyearly = pd.Grouper(freq="A-DEC")'),
    ]},
    "NB511": {"cells": [
        code("import matplotlib as mpl\nimport matplotlib.pyplot as plt\n"
             "plt.rcParams['axes.color_cycle'] = ['r', 'g']\n"
             "plt.rcParams['axes.prop_cycle'] = mpl.cycler(color=['r', 'g'])\n"
             "mpl.rcParams.update({'savefig.frameon': False, 'figure.dpi': 100})\n"
             "mpl.rc('axes', color_cycle=['r'], grid=True)"),
        code("with plt.rc_context({'text.latex.unicode': True}):\n    plt.plot([1])"),
    ]},
    "NB512": {"cells": [
        code("from IPython.html import widgets\nimport ipywidgets\n"
             "from IPython.display import display"),
        code("from pandas.tools.plotting import scatter_matrix\n"
             "from pandas.plotting import andrews_curves\nimport pandas.io.data as web"),
    ]},
    "NB513": {"cells": [
        code("import pandas as pd\nraw = {'team': ['a', 'a', 'b'], 'name': ['Ann', 'Bo', 'Cy'],\n"
             "       'score': [4, 2, 5]}\nscores = pd.DataFrame(raw, columns=raw.keys())"),
        code("scores.groupby('team').mean()\nscores[scores['score'] > 2].median()"),
        code("scores.groupby('team').mean(numeric_only=True)\nscores['score'].mean()\n"
             "scores.groupby(['team', 'name']).std()\n"
             "scores.groupby('team')['score'].mean()\nscores.groupby('team').sum()\n"
             "scores[['score']].mean()"),
        code("numbers = pd.DataFrame({'x': [1, 2], 'y': [3.0, 4.5]})\nnumbers.mean()\n"
             "fixed = pd.DataFrame({'k': ['a', 'b'], 'v': [1, 2]})\n"
             "fixed.drop(columns='k', inplace=True)\nfixed.mean()\n"
             "again = pd.DataFrame({'k': ['a'], 'v': [1]})\nagain = again.set_index('k')\n"
             "again.mean()"),
    ]},
    "NB601": {"cells": [
        code("import random\nx = random.random()\nz = random.randint(1, 6)"),
        code("rng = random.Random()\nrng2 = random.Random(42)"),
        code("random.seed(0)\ny = random.choice([1, 2])"),
    ]},
    "NB602": {"cells": [
        code("import numpy as np\nx = np.random.rand(3)"),
        code("rng = np.random.default_rng()"),
        code("np.random.seed(0)\ny = np.random.randn(2)\nrng2 = np.random.default_rng(42)"),
    ]},
    "NB603": {"cells": [
        code("import torch\nlayer = torch.nn.Linear(3, 1)"),
        code("torch.manual_seed(0)\nx = torch.rand(3)"),
    ]},
    "NB604": {"cells": [
        code("from sklearn.model_selection import train_test_split, KFold\n"
             "from sklearn.ensemble import RandomForestClassifier\n"
             "X_train, X_test = train_test_split(X, test_size=0.2)\n"
             "model = RandomForestClassifier(n_estimators=10, random_state=0)\ncv = KFold(5)\n"
             "cv2 = KFold(5, shuffle=True)\nfrom sklearn.linear_model import LinearRegression\n"
             "lr = LinearRegression()"),
        code("from sklearn.tree import DecisionTreeClassifier\n"
             "from sklearn.ensemble import BaggingClassifier\ntree = DecisionTreeClassifier()\n"
             "bag = BaggingClassifier(tree, random_state=1)\n"
             "bag2 = BaggingClassifier(DecisionTreeClassifier(), random_state=0)\n"
             "alone = DecisionTreeClassifier()"),
    ]},
    "NB605": {"cells": [
        code("from sklearn.preprocessing import StandardScaler\n"
             "from sklearn.model_selection import train_test_split\nscaler = StandardScaler()\n"
             "X_scaled = scaler.fit_transform(X)"),
        code("X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, random_state=0)"),
        code("A_train, A_test = train_test_split(A, random_state=0)\n"
             "scaler2 = StandardScaler().fit(A_train)\nA_train_s = scaler2.transform(A_train)"),
    ]},
    "NB606": {"cells": [
        code("from sklearn.linear_model import LogisticRegression\n"
             "from sklearn.metrics import accuracy_score\nmodel = LogisticRegression()\n"
             "model.fit(X, y)\nprint(model.score(X, y))\npred = model.predict(X)\n"
             "print(accuracy_score(y, pred))"),
        code("other = LogisticRegression()\nother.fit(X_train, y_train)\n"
             "other.score(X_train, y_train)\nother.score(X_test, y_test)"),
        code("chained = LogisticRegression().fit(X2, y2)\nchained.score(X2, y2)\n"
             "held = LogisticRegression(C=2).fit(X_train, y_train)\nheld.score(X_test, y_test)"),
    ]},
}

SUPPORT_FILES = {
    "requirements.txt": "pandas>=2\nnumpy\nscikit-learn  # imported as sklearn\nmatplotlib\n",
    "localmod.py": '"""A module beside the notebooks: a local import, not a dependency."""\n',
    "stocker.py": (
        '"""A local module that imports a package no environment here has."""\n'
        "import os\n\nimport quandl_absent_package\n\nimport localmod\n"
    ),
    "data/present.csv": "a,b\n1,2\n",
    "data/lfs.csv": (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n"
    ),
}


def build(spec: dict) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 5
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    extra = {k: spec[k] for k in ("config", "filename") if k in spec}
    if extra:
        nb.metadata["nbprod-fixture"] = extra
    for index, cell_spec in enumerate(spec["cells"], start=1):
        if cell_spec["cell_type"] == "code":
            cell = nbformat.v4.new_code_cell(cell_spec["source"])
            cell.execution_count = cell_spec["execution_count"]
            cell.outputs = [nbformat.from_dict(o) for o in cell_spec["outputs"]]
        else:
            cell = nbformat.v4.new_markdown_cell(cell_spec["source"])
        if cell_spec.get("tags"):
            cell.metadata["tags"] = list(cell_spec["tags"])
        cell.id = f"c{index}"
        nb.cells.append(cell)
    return nb


def main() -> None:
    for name, spec in FIXTURES.items():
        (HERE / f"{name}.ipynb").write_text(nbformat.writes(build(spec)), encoding="utf-8")
    for relative, text in SUPPORT_FILES.items():
        path = HERE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
