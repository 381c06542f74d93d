# genrepro — two commands do everything on a fresh machine:
#   make reproduce   set up .venv, prepare the data, execute every chapter (PROFILE=quick),
#                    build the HTML book from those executed copies into _build/html
#   make test        set up, unit tests, every chapter under nbval (quick), book build -W,
#                    and every built page checked in headless Chromium (make browser-check)
# Also: make book (render the committed notebooks as they are), make data, make clean, and
#   make gpu-jobs   pack the pending paper-scale GPU jobs into .gpu/ and print the device command
#                   (JOBS=a,b picks jobs; GPU_MINUTES=8.5); see src/genrepro/gpu.py

PYTHON     ?= python3
VENV       ?= .venv
PROFILE    ?= quick
# torch==2.13.0 resolves to the CPU wheel on the CPU machines this project runs on; on a
# GPU machine pass the CUDA build you want, e.g. make reproduce TORCH_SPEC="torch==2.13.0".
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.genrepro-installed
TEST_NB    := _build/test-nb
GPU_MINUTES ?= 8.5

.PHONY: setup data reproduce test unit notebooks book browser-check clean gpu-jobs

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[book,test]"
	$(BIN)/python -c "import torch, genrepro; print('torch', torch.__version__, '| CUDA build' if torch.version.cuda else '| CPU build')"
	$(BIN)/python -m genrepro.bookassets
	-$(BIN)/python -m genrepro.browser
	@touch $@

# One prepared dataset per data_prep/ script; each target is the file its script writes last.
DATA := data/mnist/manifest.json data/faces/test_batches_$(PROFILE).npz data/chairs/$(PROFILE)/chairs.npz

data: setup $(DATA)

data/mnist/manifest.json:
	$(BIN)/python data_prep/mnist.py

data/faces/test_batches_%.npz:
	$(BIN)/python data_prep/faces.py --profile $*

data/chairs/%/chairs.npz:
	$(BIN)/python data_prep/chairs.py --profile $*

reproduce: data
	$(BIN)/python -m genrepro.book run --profile $(PROFILE)
	$(BIN)/python -m genrepro.book build --profile $(PROFILE)

test: unit notebooks book browser-check

# Every page of _build/html in headless Chromium (file:// and a local server): JS errors, broken
# images, untypeset math, tables shown as text, tracebacks in outputs, dead internal links.
# Screenshots of each page's first screen go to _build/screens. Skips, saying why, where
# Chromium cannot be had (it is unpacked from Debian's packages into .venv/chromium).
browser-check: book
	$(BIN)/python -m genrepro.bookcheck _build/html --screens _build/screens

unit: data
	$(BIN)/python -m pytest -p no:cacheprovider tests

# Each chapter gets the quick parameters injected by papermill (no execution), then nbval
# executes every prepared copy once, in book order; their results go to $(TEST_NB)/run.
notebooks: data
	rm -rf $(TEST_NB)
	$(BIN)/python -m genrepro.book prepare --profile quick --out $(TEST_NB)
	GENREPRO_RUN_DIR=$(CURDIR)/$(TEST_NB)/run GENREPRO_PROGRESS=log $(BIN)/python -m pytest -p no:cacheprovider \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -o testpaths= \
	  $(addprefix $(TEST_NB)/,$(addsuffix .ipynb,$(shell $(BIN)/python -m genrepro.book list 2>/dev/null)))

book: setup
	$(BIN)/python -m genrepro.book build

# Run the printed command with the device tool (carry [".gpu"]); bring its $$OUT here, then
# `python -m genrepro.gpu unpack DIR` and `python -m genrepro.train NAME --publish`.
gpu-jobs: setup
	$(BIN)/python -m genrepro.gpu pack --minutes $(GPU_MINUTES) $(if $(JOBS),--jobs $(JOBS))

clean:
	rm -rf _build
