// The version upload form. Small files go with the form as they always did. When the files come to more than
// the form's data-resumable-bytes (GATEHOUSE_RESUMABLE_FORM_MB), each is sent first as a resumable upload
// (tus, /api/v1/uploads/) with a progress bar: a dropped connection is retried and goes on from the last byte
// the server kept. The form is then submitted with the uploads' ids in place of the files.
(function () {
  const form = document.getElementById("version-form");
  if (!form) return;
  const button = document.getElementById("upload-button");
  const artifactInput = form.querySelector("input[name=artifact]");
  const dataInput = form.querySelector("input[name=data]");
  const threshold = Number(form.dataset.resumableBytes || 0);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function chosen() {
    const files = [];
    if (artifactInput && artifactInput.files.length) files.push(artifactInput.files[0]);
    if (dataInput) files.push(...dataInput.files);
    return files;
  }

  function sendOne(file, done, total, status, bar) {
    return new Promise(function (resolve, reject) {
      const upload = new tus.Upload(file, {
        endpoint: form.dataset.uploadsUrl,
        chunkSize: 64 * 1024 * 1024, // a proxy's body limit never stops a part; each part is one retry
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
        metadata: { filename: file.name },
        headers: { "X-CSRFToken": csrf },
        storeFingerprintForResuming: false,
        onProgress: function (sent) {
          const percent = ((done + sent) / total) * 100;
          bar.value = percent;
          status.textContent = file.name + ": " + Math.round(percent) + "% of " + (total / 1048576).toFixed(0) + " MB";
        },
        onShouldRetry: function (err) {
          status.textContent = file.name + ": connection lost, going on from the last byte received…";
          const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
          return code === 0 || code >= 500 || code === 409 || code === 423;
        },
        onError: function (err) {
          let detail = err.message;
          try {
            detail = JSON.parse(err.originalResponse.getBody()).detail || detail;
          } catch (e) { /* not JSON: keep the message */ }
          reject(new Error(file.name + ": " + detail));
        },
        onSuccess: function () {
          resolve(upload.url.replace(/\/$/, "").split("/").pop());
        },
      });
      upload.start();
    });
  }

  form.addEventListener("submit", async function (event) {
    const files = chosen();
    const total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    button.disabled = true;
    if (!window.tus || !window.tus.isSupported || total <= threshold || !artifactInput.files.length) {
      form.querySelector("input[name=artifact_upload]").value = ""; // ids a refused round left are used up
      form.querySelector("input[name=data_uploads]").value = "";
      document.getElementById("upload-progress").hidden = false;
      return; // the plain form post
    }
    event.preventDefault();
    const panel = document.getElementById("resumable-progress");
    const status = document.getElementById("resumable-status");
    const bar = document.getElementById("resumable-bar");
    panel.hidden = false;
    try {
      const ids = [];
      let done = 0;
      for (const file of files) {
        ids.push(await sendOne(file, done, total, status, bar));
        done += file.size;
      }
      form.querySelector("input[name=artifact_upload]").value = ids[0];
      form.querySelector("input[name=data_uploads]").value = ids.slice(1).join(",");
      artifactInput.value = "";
      if (dataInput) dataInput.value = "";
      status.textContent = "All files received; checking the model…";
      form.submit();
    } catch (err) {
      status.textContent = err.message + " Nothing was registered; choose the files and try again.";
      button.disabled = false;
    }
  });
})();
