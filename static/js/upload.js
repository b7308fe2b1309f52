// The version upload form: disable the button and say that a large file takes a while.
(function () {
  const form = document.getElementById("version-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    document.getElementById("upload-button").disabled = true;
    document.getElementById("upload-progress").hidden = false;
  });
})();
