"""The production topology: nginx (deploy/nginx/eventio.conf) in front of gunicorn."""
