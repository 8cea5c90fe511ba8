# forecaster: container image for the `forecast` CLI.
#
# CPU image (default):
#   docker build -t forecaster .
#   docker run --rm forecaster                 # prints `forecast --help`
#   docker run --rm \
#       -v "$PWD/data:/work/data" -v "$PWD/runs:/work/runs" \
#       forecaster <command> [options]         # e.g. paths under data/ and runs/
#
# GPU image: the EXTRAS build argument selects optional dependencies of the
# project; EXTRAS=gpu installs `.[gpu]`, i.e. `tensorflow[and-cuda]`, which
# pulls the CUDA/cuDNN runtime libraries from PyPI. The host needs an NVIDIA
# driver and the NVIDIA Container Toolkit; the container is started with
# `--gpus all`:
#   docker build --build-arg EXTRAS=gpu -t forecaster:gpu .
#   docker run --rm --gpus all \
#       -v "$PWD/data:/work/data" -v "$PWD/runs:/work/runs" \
#       forecaster:gpu <command> [options]
#
# The bundled sample CSVs are copied to /work/data; mounting a host directory
# on /work/data replaces them. Results go to /work/runs (mount it to keep them).

FROM python:3.11-slim-bookworm

# Optional extras to install with the project: "" (CPU) or "gpu".
ARG EXTRAS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    TF_CPP_MIN_LOG_LEVEL=2

# Unprivileged user that runs the CLI.
RUN groupadd --gid 1000 forecaster \
    && useradd --no-log-init --create-home --uid 1000 --gid forecaster forecaster

WORKDIR /src
COPY pyproject.toml README.md ./
COPY forecaster ./forecaster
# Installs `./` for the CPU image, `./[gpu]` (or another extra) when EXTRAS is set.
RUN pip install --no-cache-dir "./${EXTRAS:+[$EXTRAS]}" \
    && forecast --help > /dev/null

WORKDIR /work
COPY data/*.csv data/README.md ./data/
RUN mkdir -p /work/runs \
    && chown -R 1000:1000 /work

USER 1000:1000
VOLUME ["/work/data", "/work/runs"]

ENTRYPOINT ["forecast"]
CMD ["--help"]
