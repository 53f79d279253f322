/* Capture upload: sends the file to the API's capture endpoint (the same one scripts use) with
   the session's CSRF token, shows the transfer progress, then hands over to the job panel that
   HTMX polls until the analysis ends. Messages go in with textContent only. */
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var bar = document.getElementById("upload-bar");
    var status = document.getElementById("upload-status");
    var button = form.querySelector("button[type=submit]");
    var jobs = document.getElementById("upload-job");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.querySelector("input[type=file]");
      if (!input.files || !input.files.length) {
        status.textContent = "Choose a capture file first.";
        return;
      }
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("data-endpoint"));
      xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round(100 * e.loaded / e.total);
          bar.style.width = pct + "%";
          status.textContent = "Uploading\u2026 " + pct + "%";
        }
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.id !== undefined) {
          bar.style.width = "100%";
          status.textContent = "Uploaded: the analysis runs below.";
          var panel = document.createElement("div");
          panel.setAttribute("hx-get", "/upload/jobs/" + encodeURIComponent(body.id));
          panel.setAttribute("hx-trigger", "load");
          panel.setAttribute("hx-swap", "outerHTML");
          jobs.textContent = "";
          jobs.appendChild(panel);
          if (window.htmx) { window.htmx.process(panel); }
          form.reset();
        } else {
          var msg = body && body.error ? body.error.message : ("upload failed (HTTP " + xhr.status + ")");
          status.textContent = "Upload refused: " + msg;
          bar.style.width = "0%";
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.textContent = "Upload failed: the console did not answer.";
      });
      button.disabled = true;
      status.textContent = "Uploading\u2026";
      xhr.send(data);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
