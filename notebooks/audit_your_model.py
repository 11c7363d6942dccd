# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Audit your own model
#
# The audit of chapter 8 for a model you trained: how often do the max-score and entropy
# attacks call non-members members, at thresholds set for 1 % and 5 % FPR on your held-out
# images? The same as `python -m helpers audit` (see `helpers.model_audit`), as a notebook:
#
# ```bash
# papermill audit_your_model.ipynb out.ipynb -p model model.pt -p members train/ -p heldout heldout/ \
#     -p sources '{"web": "web-images/"}'
# ```

# %% tags=["parameters"]
model = ""  # TorchScript file, or a state dict (with architecture, or the book cache's sidecar)
members = ""  # folder of the model's training images
heldout = ""  # folder of held-out images of the same distribution
test = None  # optional: other held-out images (default: half of heldout)
sources = {}  # other non-member sources, {name: folder} (a mapping or its JSON text)
architecture = None  # for a state dict without sidecar, with the three sizes below
num_classes = None
in_channels = None
image_size = None
mean = None  # normalisation per channel (default: the member images' own)
std = None
resize = False  # resize images to the model's image size
fprs = [0.01, 0.05]
out = "audit-report"  # folder of report.md, report.html, audit.csv, scaling.csv

# %%
import json

from IPython.display import Image, Markdown, display

from helpers.config import ConfigError
from helpers.model_audit import audit_folders, load_model

if isinstance(sources, str):
    sources = json.loads(sources) if sources.strip() else {}
if not isinstance(sources, dict):
    raise ConfigError(f"parameter 'sources' has value {sources!r}; allowed: a mapping name -> folder")
loaded = load_model(model, architecture=architecture, num_classes=num_classes,
                    in_channels=in_channels, image_size=image_size)
result = audit_folders(loaded, members, heldout, test=test, sources=sources, mean=mean, std=std,
                       resize=resize, fprs=tuple(fprs))
display(Markdown("\n".join(f"- {line}" for line in result.summary())))

# %%
for target in result.settings["fprs"]:
    display(result.view(target))
display(result.tpr())
display(result.scaling)
display(Image(result.figure()))
written = result.write(out)
print("written:", ", ".join(str(p) for p in written))
