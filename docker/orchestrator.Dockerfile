# syntax=docker/dockerfile:1.7
# Orchestrator image: the policies (torch on CPU is enough for SAC inference).
#   docker build -f docker/orchestrator.Dockerfile -t aaas-orchestrator .
FROM python:3.12-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE NOTICE ./
COPY aaas/ aaas/
COPY broker/ broker/
COPY link/ link/
COPY edge_node/ edge_node/
COPY orchestrator/ orchestrator/
COPY user_agent/ user_agent/
COPY monitoring/ monitoring/
COPY testbed/ testbed/
# CPU-only torch wheels: no CUDA libraries in this image.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        -c constraints.txt ".[orchestrator]"

EXPOSE 9102
ENTRYPOINT ["aaas"]
CMD ["orchestrator", "--broker", "mqtt://mosquitto:1883", "--metrics-host", "0.0.0.0", \
     "--metrics-port", "9102"]
