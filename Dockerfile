FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
# Vendor the front-end bundles first: the installed package takes its static files from web/static.
RUN npm ci --no-audit --no-fund && python web/vendor.py && pip install --no-cache-dir . && rm -rf node_modules
RUN useradd --system --home /app canbao && mkdir -p /data && chown canbao /data
USER canbao
ENV CANBAO_DATA_DIR=/data
EXPOSE 8000
CMD ["sh", "-c", "canbao migrate && canbao deploy && canbao serve --host 0.0.0.0 --workers 2"]
