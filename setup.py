"""Builds the Python package `lowrank` through CMake.

`pip install .` / `pip wheel .` (metadata in pyproject.toml) call this: it
configures and builds the CMake targets lowrank_python (the compiled module
lowrank._core) and lowrank_cli (the `lowrank` program), then puts the module,
the generated lowrank/_version.py and the program (as lowrank/bin/lowrank)
into the package beside the pure-Python files of python/lowrank/.

Where CMake builds:
  LOWRANK_CMAKE_BUILD_DIR=DIR   reuse an existing build directory (relative
                                paths are from the repository root), e.g. the
                                build/ of scripts/setup.sh, so nothing compiles
                                twice; it must be configured for this
                                interpreter's version (checked).
  otherwise                     build-pip/, a Release build without tests,
                                configured on first use and then incremental.
CMAKE_BUILD_PARALLEL_LEVEL sets the compile jobs (default: all cores).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def cmake_build_dir():
    given = os.environ.get("LOWRANK_CMAKE_BUILD_DIR")
    if given:
        path = Path(given)
        return (path if path.is_absolute() else ROOT / path), True
    return ROOT / "build-pip", False


class CMakeBuild(build_ext):
    """build_ext whose one extension, lowrank._core, comes from CMake."""

    def run(self):
        for ext in self.extensions:
            self.build_extension(ext)

    def build_extension(self, ext):
        build, reused = cmake_build_dir()
        cmake = shutil.which("cmake")
        if cmake is None:
            sys.exit("lowrank: cmake not found (Debian: scripts/install-deps.sh installs it and the libraries)")
        if not (build / "CMakeCache.txt").exists():
            self.announce(f"configuring lowrank in {build}", level=2)
            subprocess.check_call([cmake, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                                   "-DLOWRANK_UNITY=ON", "-DLOWRANK_TESTS=OFF", "-DLOWRANK_BENCH=OFF",
                                   "-DLOWRANK_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"])
        env = dict(os.environ)
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        # Up to date in a reused build: make only checks time stamps.
        subprocess.check_call([cmake, "--build", str(build), "--target", "lowrank_python", "lowrank_cli"], env=env)

        package = build / "python" / "lowrank"
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        module = package / f"_core{suffix}"
        if not module.exists():
            found = sorted(p.name for p in package.glob("_core*.so")) if package.exists() else []
            sys.exit(f"lowrank: {module} not built; found {found or 'no module'}"
                     + (" (the reused build directory was configured for another Python: configure it with "
                        f"-DPython3_EXECUTABLE={sys.executable}, or unset LOWRANK_CMAKE_BUILD_DIR)" if reused else ""))
        version_py = package / "_version.py"
        expected = (ROOT / "VERSION").read_text().strip()
        if f'"{expected}"' not in version_py.read_text():
            sys.exit(f"lowrank: {version_py} does not say {expected} (VERSION): re-run cmake in {build}")

        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(module, target)
        shutil.copyfile(version_py, target.parent / "_version.py")
        bin_dir = target.parent / "bin"
        bin_dir.mkdir(exist_ok=True)
        shutil.copyfile(build / "lowrank", bin_dir / "lowrank")
        os.chmod(bin_dir / "lowrank", 0o755)


(ROOT / "build-pip").mkdir(exist_ok=True)
setup(
    ext_modules=[Extension("lowrank._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own staging goes beside CMake's, never into build/ (CMake's).
    options={"build": {"build_base": "build-pip/setuptools"}, "egg_info": {"egg_base": "build-pip"}},
)
