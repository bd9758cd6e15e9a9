# Top-level driver: build the series on Debian's linux-source-6.1, boot it
# under QEMU (TCG, nested SVM) and run programs inside.  See README.md.
#
#   make run          build, boot, run the demo guest on private memory
#   make check        host-side tests, then every selftest in the booted kernel
#   make bench        the performance ratios, measured in one boot
#   make check DEBUG=1   same with lockdep, KASAN, kmemleak, DEBUG_VM

SHELL := /bin/bash
export DEBUG

.PHONY: all build build-nopriv run check check-host bench deps tree clean distclean

all: build

deps:
	@scripts/deps.sh

build: deps
	@scripts/assemble.sh
	@scripts/configure.sh
	@scripts/build-kernel.sh
	@scripts/build-tests.sh

# The tree only (assembled and patched), e.g. for checkpatch or W=1 runs.
tree: deps
	@scripts/assemble.sh

run:
	@scripts/run-mode.sh run

check-host: deps
	@scripts/test-verdict.sh

# The =n build first, so that the verdict's summary is the last line.
check: check-host build-nopriv
	@scripts/run-mode.sh check

# Private memory configured out must still build (kernel only, no boot).
build-nopriv: deps
	@VARIANT=nopriv scripts/assemble.sh
	@VARIANT=nopriv scripts/configure.sh
	@VARIANT=nopriv scripts/build-kernel.sh

bench:
	@scripts/run-mode.sh bench

clean:
	rm -rf build/default build/debug build/nopriv

distclean:
	rm -rf build
