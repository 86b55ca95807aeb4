# The two commands of the README: `make demo` and `make test`. Both set everything up on a fresh
# machine (Python >= 3.10, no ROS): .venv with pinned ROS 2 Kilted wheels and dependencies, then
# `colcon build` of the workspace. A second run reuses both and takes seconds.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup build demo test lint format bench clean

help:
	@echo "make demo   - the simulated G1 fetches an object (see, walk, grasp by touch), headless"
	@echo "make test   - lint (ruff) and run every test (core, nodes, launch wiring)"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make clean  - remove build/, install/, log/ (keeps .venv)"

setup:
	@bash tools/setup_venv.sh

build: setup
	@bash tools/build.sh

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

test: build
	@bash tools/run_tests.sh

demo: build
	@bash -c '. tools/env.sh && python tools/demo.py $(DEMO_ARGS)'

bench: build
	@bash -c '. tools/env.sh && python bench/sim_rtf.py'

clean:
	rm -rf build install log
