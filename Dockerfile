# MailSage: one image for `mailsage serve`, `mailsage worker` and `mailsage migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mailsage_gql ./mailsage_gql
COPY migrations ./migrations
# Editable install: the aerich migrations are read from /app/migrations beside the package.
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app mailsage
USER mailsage
EXPOSE 8000
CMD ["mailsage", "serve", "--host", "0.0.0.0", "--port", "8000"]
