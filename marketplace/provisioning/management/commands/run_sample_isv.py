"""Serve the sample ISV server: the seller's side of the ISV interface, for the demo and for trying
the platform's produce and sync calls by hand.

``python manage.py run_sample_isv --port 8765`` matches the demo seller of ``seed_demo`` (produce URL
http://127.0.0.1:8765/produce, access key demo-produce-access-key-2026). The server itself is
``marketplace/provisioning/sample_isv.py``: no Django, state in memory, gone when it stops.
"""

from django.core.management.base import BaseCommand, CommandError

from marketplace.provisioning.sample_isv import DEMO_ACCESS_KEY, SampleISV, load_or_create_private_key


class Command(BaseCommand):
    help = "Serve the sample ISV server (produce, deploy, sync and SSO callback endpoints) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--access-key", default=DEMO_ACCESS_KEY, help="The seller's produce access key.")
        parser.add_argument(
            "--public-url", default="", help="Where buyers reach this server, if not http://HOST:PORT (appInfo links)."
        )
        parser.add_argument(
            "--private-key-file",
            default="",
            help="PEM file of the RSA key for applicationSync; made if missing, so the public key survives restarts.",
        )
        parser.add_argument(
            "--behaviour",
            default="normal",
            help="Misbehave for a demo: refuse, hang, error500, bad_json, processing, ...",
        )
        parser.add_argument(
            "--oauth-client", default="", help="CLIENT_ID:SECRET of the app for single sign-on, until applicationSync."
        )
        parser.add_argument("--platform-url", default="", help="The platform's base URL, until a tenantSync says it.")
        parser.add_argument("--quiet", action="store_true", help="Do not print a line per request.")

    def handle(
        self,
        *args,
        host,
        port,
        access_key,
        public_url,
        private_key_file,
        behaviour,
        oauth_client,
        platform_url,
        quiet,
        **options,
    ):
        private_key = load_or_create_private_key(private_key_file) if private_key_file else None
        isv = SampleISV(
            access_key,
            private_key=private_key,
            public_url=public_url,
            oauth_client=tuple(oauth_client.split(":", 1)) if ":" in oauth_client else None,
            platform_url=platform_url,
            verbose=not quiet,
            log=self._log,
        )
        try:
            isv.behaviour = behaviour
        except ValueError as error:
            raise CommandError(str(error))
        try:
            isv.bind(host, port)
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}")
        self.stdout.write(isv.describe())
        self.stdout.write(f"  access key:        {access_key}")
        self.stdout.write("RSA public key (upload it in the seller center so that applicationSync can reach you):")
        self.stdout.write(isv.public_key_pem)
        self.stdout.write("Quit with CONTROL-C.")
        try:
            isv.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            isv.stop()

    def _log(self, line: str) -> None:
        self.stdout.write(line)
