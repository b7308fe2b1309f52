from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the artifact bucket when artifacts are on S3 and it does not exist yet (a no-op otherwise)."

    def handle(self, *args, **options):
        bucket_name = getattr(default_storage, "bucket_name", None)
        if not bucket_name:
            self.stdout.write("Artifacts are in a local folder; no bucket to create.")
            return
        client = default_storage.connection.meta.client
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket_name in existing:
            self.stdout.write(f"Bucket {bucket_name} exists.")
            return
        client.create_bucket(Bucket=bucket_name)
        self.stdout.write(self.style.SUCCESS(f"Bucket {bucket_name} created."))
