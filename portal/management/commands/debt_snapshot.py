import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take


class Command(BaseCommand):
    help = (
        "Take today's model-debt snapshot now; with --backfill, first rebuild every missing past day from "
        "the history (stage changes, observations, jobs, requests and the audit log)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--backfill", action="store_true", help="Also snapshot every past day that has none.")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="First day to backfill (YYYY-MM-DD); default: the day of the first audit event.",
        )
        parser.add_argument("--replace", action="store_true", help="Rebuild past days that have a snapshot too.")
        parser.add_argument("--day", type=dt.date.fromisoformat, help="Snapshot one past day (YYYY-MM-DD) only.")

    def handle(self, *args, **options):
        if options["day"]:
            try:
                count = debt_snapshot_take(day=options["day"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(self.style.SUCCESS(f"{options['day']}: {count} model(s) recorded."))
            return
        if options["backfill"]:
            done = debt_backfill(since=options["since"], replace=options["replace"])
            self.stdout.write(f"Backfilled {done['days']} day(s), {done['rows']} row(s).")
        count = debt_snapshot_take()
        self.stdout.write(self.style.SUCCESS(f"Today's snapshot: {count} live model(s) recorded."))
