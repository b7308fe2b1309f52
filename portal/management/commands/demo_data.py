from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.demo.accounts import DEMO_PASSWORD, DEMO_USERS
from portal.demo.story import load_demo_data


class Command(BaseCommand):
    help = "Load demo teams, accounts and real ONNX models (idempotent). Refused unless DEBUG is on."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Demo data creates accounts with a published password, so it is refused when DEBUG is off. "
                "Set DEBUG=true on a development machine."
            )
        created = load_demo_data(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created['models']} new model(s), {created['versions']} new version(s), "
                f"{created['datasets']} new dataset(s)."
            )
        )
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'): {', '.join(u[0] for u in DEMO_USERS)}, admin")
