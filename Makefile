# One entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        ?= .venv
PYTHON      ?= python3
# Shared caches for the test containers (debootstrap and apt .debs): one download per machine.
LAB_CACHE_DIR ?= /var/cache/gpu-lab
LAB_IMAGES  ?= debian12 debian13
SCENARIOS   ?= $(sort $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
SYSTEM_PACKAGES := podman runc debootstrap gnupg apt-utils dpkg-dev fakeroot uidmap \
                   containernetworking-plugins python3-venv make git openssh-client sshpass chromium

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/.config/containers/containers.conf
export LAB_CACHE_DIR
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONUNBUFFERED := 1

STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements.yml | sha256sum | cut -c1-12)

# Files that run on a node: they must run on Ubuntu 22.04's Python 3.10.
NODE_PYTHON := plugins roles/gpu_health/files roles/node_metrics/files harness/hardware_run.py

.PHONY: help setup system-packages images lab lab-destroy bootstrap provision drift lock report validate bench test lint sanity python310 readmes collection unit integration molecule scenario clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

system-packages: ## Install the Debian packages the toolchain needs (as root)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Missing system packages: $$missing. Run 'make setup' as root, or: sudo apt-get install $$missing" >&2; exit 1; fi; \
	  echo "Installing system packages: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): requirements.txt requirements.yml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

setup: system-packages $(STAMP) ## Install system packages, the virtualenv and check collections and podman
	@$(VENV)/bin/python harness/check_collections.py
	@$(VENV)/bin/python harness/check_podman.py
	@mkdir -p $(addprefix $(LAB_CACHE_DIR)/apt/,$(LAB_IMAGES))

images: setup ## Build the lab's base images (only when their recipe changed)
	$(VENV)/bin/python harness/images/build.py $(LAB_IMAGES)
	@$(VENV)/bin/python harness/check_podman.py --image localhost/gpu-lab:$(firstword $(LAB_IMAGES))

lab: images ## Create the container lab (LAB_NODES=3) over SSH: bootstrap, the whole site with Slurm and Prometheus, drift check, report
	ansible-playbook playbooks/lab.yml -e lab_nodes=$${LAB_NODES:-3}
	$(MAKE) --no-print-directory drift
	$(MAKE) --no-print-directory report

lab-destroy: setup ## Remove the lab's containers and its generated inventory
	ansible-playbook playbooks/lab-destroy.yml

bootstrap: setup ## First contact with fresh nodes of INVENTORY: Python, the admin account, sshd (ARGS="--ask-pass -l NODE")
	ansible-playbook -i $${INVENTORY:-inventory/lab} playbooks/bootstrap.yml $${ARGS:-}

provision: setup ## Run playbooks/site.yml against INVENTORY (default: the lab)
	ansible-playbook -i $${INVENTORY:-inventory/lab} playbooks/site.yml $${ARGS:-}

drift: setup ## What site.yml would change on each node of INVENTORY (default: the lab), changing nothing; exits non-zero on drift
	GPU_RIG_DRIFT_DIR=$(CURDIR)/drift-report ANSIBLE_CALLBACKS_ENABLED=gpu_rig.cluster.drift,gpu_rig.cluster.progress,ansible.posix.profile_tasks \
	  ansible-playbook -i $${INVENTORY:-inventory/lab} --check --diff playbooks/drift.yml $${ARGS:-}

lock: setup ## Record the exact versions the nodes of INVENTORY run in its group_vars/gpu_nodes/lock.yml
	ansible-playbook -i $${INVENTORY:-inventory/lab} playbooks/lock.yml $${ARGS:-}

report: setup ## The cluster report of INVENTORY: cluster-report/cluster.html (and .md, .json)
	GPU_RIG_REPORT_DIR=$(CURDIR)/cluster-report GPU_RIG_DRIFT_DIR=$(CURDIR)/drift-report \
	  ansible-playbook -i $${INVENTORY:-inventory/lab} playbooks/report.yml $${ARGS:-}

validate: setup ## GPU and memory health and the lock on every node of INVENTORY, changing nothing
	ansible-playbook -i $${INVENTORY:-inventory/lab} playbooks/validate.yml $${ARGS:-}

lint: setup python310 sanity ## yamllint, ansible-lint (production profile), ruff, the Python 3.10 check, ansible-test sanity
	yamllint --strict .
	ansible-lint --profile production
	ruff check .

python310: setup ## Every file that runs on a node works on Python 3.10 (vermin)
	vermin -q --no-tips --violations -t=3.10- --feature union-types $(NODE_PYTHON)

sanity: setup ## ansible-test sanity on the built and installed collection (no Docker)
	$(VENV)/bin/python harness/sanity.py

readmes: setup ## Regenerate the variable tables of the role READMEs from meta/argument_specs.yml
	for r in roles/*/; do aar-doc --output-template harness/readme/variables.md.j2 $$r markdown; done

collection: setup ## Build the collection artifact into build/ (ansible-galaxy collection build)
	ansible-galaxy collection build --force --output-path build .

unit: setup ## Unit tests of the Python code (plugins, modules, test tools)
	pytest tests/unit

integration: images ## The signed apt mirror against real apt, argument specs, the built collection installed elsewhere
	pytest tests/integration

# Scenarios that each run in a lane of their own, beside each other and beside the rest (which run one after
# the other), each with a package cache of its own (apt locks its cache directory): the DKMS builds of
# debian_gpu_stack and the cluster's three nodes over SSH are the longest.
LANE_SCENARIOS ?= cluster debian_gpu_stack

molecule: images ## Every Molecule scenario (check, converge, idempotence, verify); all run, failures listed at the end
	@mkdir -p build $(foreach s,$(LANE_SCENARIOS),$(addprefix $(LAB_CACHE_DIR)/$(s)/apt/,$(LAB_IMAGES))); \
	lanes="$(filter $(LANE_SCENARIOS),$(SCENARIOS))"; failed=""; pids=""; \
	for s in $$lanes; do rm -f build/molecule-$$s.failed; \
	  ( echo "=== $$s in a lane of its own ($$(date +%T)), log build/molecule-$$s.log"; start=$$(date +%s); \
	    if LAB_CACHE_DIR=$(LAB_CACHE_DIR)/$$s molecule test -s $$s > build/molecule-$$s.log 2>&1; \
	    then echo "=== $$s passed in $$(( $$(date +%s) - start ))s (lane)"; \
	    else echo "=== $$s FAILED after $$(( $$(date +%s) - start ))s (lane; its failures are printed at the end)"; \
	      touch build/molecule-$$s.failed; fi ) & pids="$$pids $$!"; \
	done; \
	for s in $(filter-out $(LANE_SCENARIOS),$(SCENARIOS)); do \
	  echo "=== molecule test -s $$s ($$(date +%T))"; start=$$(date +%s); \
	  if molecule test -s $$s; then echo "=== $$s passed in $$(( $$(date +%s) - start ))s"; \
	  else echo "=== $$s FAILED after $$(( $$(date +%s) - start ))s"; failed="$$failed $$s"; fi; \
	done; \
	wait $$pids; \
	for s in $$lanes; do [ -e build/molecule-$$s.failed ] || continue; failed="$$failed $$s"; \
	  echo "=== $$s: the failures and the end of build/molecule-$$s.log"; \
	  sed 's/\x1b\[[0-9;]*m//g' build/molecule-$$s.log | grep -E -B2 -A12 '^ *(│ )?(fatal|failed):' | tail -n 60 || true; \
	  echo "---"; sed 's/\x1b\[[0-9;]*m//g' build/molecule-$$s.log | tail -n 40; done; \
	if [ -n "$$failed" ]; then echo "Failed scenarios:$$failed" >&2; exit 1; fi

scenario: images ## One Molecule scenario: make scenario S=node_base [CMD=converge]
	molecule $${CMD:-test} -s $(S)

bench: images ## Benchmarks: converge, apt floor, no-op and drift at BENCH_NODES (default "1 2 4 8") lab nodes; docs/performance.md
	$(VENV)/bin/python bench/cluster.py

test: lint unit integration molecule ## The whole suite: what CI runs
	@echo "All tests passed."

clean: ## Remove the virtualenv and caches in the repository (not the lab's package cache)
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
