# syntax=docker/dockerfile:1.7
# Edge node (ASP) image: CUDA runtime base, torch from PyPI (it brings its own CUDA
# libraries; the base provides the driver-facing runtime and the NVIDIA container
# hooks). Runs modeled and repaint backends; compose reserves the GPU.
#   docker build -f docker/edge.Dockerfile -t aaas-edge .
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04
FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/aaas PATH=/opt/aaas/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/aaas

WORKDIR /src
# Dependencies first (cached while only the code changes).
COPY pyproject.toml constraints.txt README.md LICENSE NOTICE ./
COPY aaas/ aaas/
COPY broker/ broker/
COPY link/ link/
COPY edge_node/ edge_node/
COPY orchestrator/ orchestrator/
COPY user_agent/ user_agent/
COPY monitoring/ monitoring/
COPY testbed/ testbed/
RUN pip install -c constraints.txt ".[edge]"

# Models are mounted, never downloaded at run time: -v /models:/models:ro
VOLUME ["/models"]
EXPOSE 9101
ENTRYPOINT ["aaas"]
CMD ["edge-node", "--broker", "mqtt://mosquitto:1883", "--metrics-host", "0.0.0.0", \
     "--metrics-port", "9101"]
