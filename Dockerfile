# forecaster: container image for the `forecast` CLI.
#
# CPU image (default):
#   docker build -t forecaster .
#   docker run --rm forecaster                 # prints `forecast --help`
#
# Mounted folders on a Linux host: create them first and run as yourself, so
# the files the container writes belong to you (a folder `docker run -v`
# creates belongs to root, and uid 1000 inside the image cannot write to it):
#   mkdir -p runs
#   docker run --rm --user "$(id -u):$(id -g)" \
#       -v "$PWD/data:/work/data:ro" -v "$PWD/runs:/work/runs" \
#       forecaster fit data/prices.csv         # results in ./runs, owned by you
# Without --user, a runs/ folder that uid 1000 cannot write is reported as one
# `Error: ...` line naming this recipe.
#
# GPU image: the EXTRAS build argument selects optional dependencies of the
# project; EXTRAS=gpu installs `.[gpu]`, i.e. `tensorflow[and-cuda]`, which
# pulls the CUDA/cuDNN runtime libraries from PyPI (EXTRAS="gpu,tune" adds
# Optuna for `forecast tune`). The host needs an NVIDIA driver and the NVIDIA
# Container Toolkit; the container is started with `--gpus all`:
#   docker build --build-arg EXTRAS=gpu -t forecaster:gpu .
#   docker run --rm --gpus all --user "$(id -u):$(id -g)" \
#       -v "$PWD/data:/work/data:ro" -v "$PWD/runs:/work/runs" \
#       forecaster:gpu <command> [options]
#
# Layers: the dependencies (about 2.5 GB with TensorFlow) are installed from
# pyproject.toml and constraints.txt alone, before the package code is copied,
# so a code change rebuilds only the last small layers.
#
# The bundled sample CSVs are copied to /work/data; mounting a host directory
# on /work/data replaces them. Results go to /work/runs (mount it to keep them).

FROM python:3.11-slim-bookworm

# Optional extras to install with the project: "" (CPU), "gpu", "tune", "gpu,tune", ...
ARG EXTRAS=""

# KERAS_HOME and MPLCONFIGDIR point at /tmp so any --user uid can run the CLI
# (the image's home directory belongs to uid 1000).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_HOME=/tmp/.keras \
    MPLCONFIGDIR=/tmp/matplotlib

# Unprivileged user that runs the CLI.
RUN groupadd --gid 1000 forecaster \
    && useradd --no-log-init --create-home --uid 1000 --gid forecaster forecaster

WORKDIR /src
# 1. Dependencies only: this layer is reused until pyproject.toml or constraints.txt change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = [e.strip() for e in '${EXTRAS}'.split(',') if e.strip()]; \
reqs = p['dependencies'] + [r for e in extras for r in p['optional-dependencies'][e]]; \
open('/tmp/requirements.txt', 'w').write('\n'.join(reqs) + '\n')" \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 2. The package itself (no dependency resolution: they are all there).
COPY README.md ./
COPY forecaster ./forecaster
RUN pip install --no-cache-dir --no-deps "./${EXTRAS:+[$EXTRAS]}" \
    && forecast --help > /dev/null

WORKDIR /work
COPY data/*.csv data/README.md ./data/
RUN mkdir -p /work/runs \
    && chown -R 1000:1000 /work

USER 1000:1000
VOLUME ["/work/data", "/work/runs"]

ENTRYPOINT ["forecast"]
CMD ["--help"]
