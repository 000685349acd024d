"""setup.py: builds the `cpusim` Python package with CMake (pyproject.toml has the metadata).

The compiled module (python/module.cpp) needs cpusim's torch-free libraries: this configures a
build of the module alone in build-python/ (no libtorch, no Unicorn, no tests) and copies the
package that CMake lays out there (build-python/python/cpusim/). CPUSIM_BUILD_DIR=DIR uses an
existing build folder instead (only its cpusim_python target is built, its options untouched).
"""
import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class BuildWithCMake(build_py):
    def run(self):
        build = os.environ.get("CPUSIM_BUILD_DIR")
        if not build:
            build = os.path.join(ROOT, "build-python")
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DCPUSIM_WITH_TORCH=OFF", "-DCPUSIM_WITH_UNICORN=OFF",
                                   "-DBUILD_TESTING=OFF", "-DCPUSIM_BENCH=OFF"])
        subprocess.check_call(["cmake", "--build", build, "-j", os.environ.get("JOBS", "2"),
                               "--target", "cpusim_python"])
        package = os.path.join(build, "python", "cpusim")
        if not os.path.exists(os.path.join(package, "__init__.py")):
            raise RuntimeError(f"{package}: no cpusim package after the build (is pybind11-dev installed?)")
        target = os.path.join(self.build_lib, "cpusim")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a compiled module inside: a platform wheel
        return True


setup(cmdclass={"build_py": BuildWithCMake}, distclass=BinaryDistribution,
      packages=["cpusim"], package_dir={"cpusim": "python/cpusim"},
      options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}})
