// Door check-in: read QR codes from the camera and post them; no inline script (strict CSP).
// BarcodeDetector where the browser has it, else jsQR (vendored) on canvas frames.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var input = form.querySelector("input[name=barcode]");
  var video = document.getElementById("camera");
  var startButton = document.getElementById("start-camera");
  var status = document.getElementById("camera-status");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var lastCode = "";
  var lastAt = 0;
  var REPEAT_MS = 4000; // the same code within this time is the same ticket still in view

  function submit(code) {
    var now = Date.now();
    if (code === lastCode && now - lastAt < REPEAT_MS) return;
    lastCode = code;
    lastAt = now;
    input.value = code;
    form.requestSubmit();
  }

  function decodeWithJsQR() {
    if (!video.videoWidth || typeof window.jsQR !== "function") return null;
    var scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var image = context.getImageData(0, 0, canvas.width, canvas.height);
    var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  function tick() {
    if (video.readyState >= 2) {
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (codes.length) submit(codes[0].rawValue);
          setTimeout(tick, 150);
        }, function () {
          detector = null; // fall back to jsQR for good
          setTimeout(tick, 150);
        });
        return;
      }
      var code = decodeWithJsQR();
      if (code) submit(code);
    }
    setTimeout(tick, 150);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "This browser cannot use a camera here: search by name instead.";
      return;
    }
    startButton.disabled = true;
    status.textContent = "Starting camera…";
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        video.classList.remove("hidden");
        startButton.classList.add("hidden");
        return video.play();
      })
      .then(function () {
        status.textContent = "Camera on: hold a ticket's QR code in view.";
        var native = "BarcodeDetector" in window && window.BarcodeDetector.getSupportedFormats
          ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve([]);
        return native.then(function (formats) {
          if (formats.indexOf("qr_code") >= 0) {
            detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          }
          document.body.setAttribute("data-decoder", detector ? "BarcodeDetector" : "jsQR");
          tick();
        });
      })
      .catch(function (error) {
        startButton.disabled = false;
        status.textContent = "The camera did not start (" + error.name + "). Allow it, or search by name.";
      });
  }

  startButton.addEventListener("click", start);
  // Start at once where the camera is already allowed; otherwise the button asks.
  if (navigator.permissions && navigator.permissions.query) {
    navigator.permissions.query({ name: "camera" }).then(function (p) {
      if (p.state === "granted") start();
    }, function () {});
  }
})();
