# Top-level driver: build the series on Debian's linux-source-6.1, boot it
# under QEMU (TCG, nested SVM) and run programs inside.  See README.md.
#
#   make run          build, boot, run the demo guest on private memory
#   make check        host-side tests, the =n build, then every selftest in
#                     the booted default kernel and in the booted distro-like
#                     kernel (KVM as modules)
#   make check-distro the distro-like kernel's boot only
#   make bench        the performance ratios, each measured in one boot of
#                     the distro-like kernel, with the direct map removal
#                     on and off
#   make stress       long runs in one boot of the default kernel (or
#                     VARIANT=, DEBUG=1): 600 s of the stress test, 1e5
#                     fuzzer calls, 300 s of trinity next to live guests
#   make check DEBUG=1   host tests, =n build, then the debug kernel's boot
#                     only (lockdep, KASAN, kmemleak, DEBUG_VM)
#   make check VARIANT=distro   likewise, that variant's boot only

SHELL := /bin/bash
export DEBUG

# The kernels make check boots: default and distro, or the one that DEBUG=1
# or VARIANT= names.
CHECK_VARIANTS := $(or $(VARIANT),$(if $(filter 1,$(DEBUG)),debug),default distro)

.PHONY: all build build-nopriv run check check-host check-distro bench stress deps tree clean distclean

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

# The =n build first, so that the verdicts' summary is the last line.
check: check-host build-nopriv
	@scripts/check.sh $(CHECK_VARIANTS)

check-distro:
	@VARIANT=distro scripts/run-mode.sh check

# Private memory configured out must still build (kernel only, no boot).
build-nopriv: deps
	@VARIANT=nopriv scripts/assemble.sh
	@VARIANT=nopriv scripts/configure.sh
	@VARIANT=nopriv scripts/build-kernel.sh

# On the distro-like kernel unless VARIANT= says otherwise; two boots.
bench:
	@VARIANT=$(or $(VARIANT),distro) scripts/bench.sh

stress:
	@scripts/run-mode.sh stress

clean:
	rm -rf build/default build/debug build/nopriv build/distro

distclean:
	rm -rf build
