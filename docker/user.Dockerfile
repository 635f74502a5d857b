# syntax=docker/dockerfile:1.7
# Slim, multi-arch user agent (and the link proxy, which is as light): no torch,
# no OpenCV, only the core dependencies (the `user` extra). Builds for a Raspberry Pi:
#   docker buildx build -f docker/user.Dockerfile --platform linux/amd64,linux/arm64 \
#       -t REGISTRY/aaas-user --push .
FROM python:3.12-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE NOTICE ./
# Every package's source is copied (the `aaas` CLI lists their light _cli modules);
# only the user extra's dependencies are installed.
COPY aaas/ aaas/
COPY broker/ broker/
COPY link/ link/
COPY edge_node/ edge_node/
COPY orchestrator/ orchestrator/
COPY user_agent/ user_agent/
COPY monitoring/ monitoring/
COPY testbed/ testbed/
RUN pip install -c constraints.txt ".[user]" \
 && python -c "import sys, testbed.cli; testbed.cli.build_parser(); sys.exit('torch' in sys.modules)"

EXPOSE 9103
ENTRYPOINT ["aaas"]
CMD ["user-agent", "--broker", "mqtt://link:1884", "--metrics-host", "0.0.0.0", \
     "--metrics-port", "9103"]
