// 3-D Secure: the customer's bank asks them to confirm a charge. The gateway's own script shows
// its challenge; once it is done the page tells the portal, which asks the gateway how it ended.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("authentication");
  var form = document.getElementById("authenticated-form");
  if (!box || !form) { return; }
  var errorBox = document.getElementById("authentication-error");
  var done = function () { form.submit(); };
  var failed = function (error) {
    errorBox.textContent = (error && error.message) || "Your bank could not confirm the payment.";
    errorBox.hidden = false;
  };
  if (box.dataset.gateway === "stripe" && window.Stripe) {
    window.Stripe(box.dataset.publicKey).confirmCardPayment(box.dataset.clientSecret).then(function (result) {
      if (result.error) { failed(result.error); }
      done();
    });
  } else if (window.SandboxFields) {
    window.SandboxFields.authenticate(box, {
      gatewayOrigin: box.dataset.gatewayOrigin, publicKey: box.dataset.publicKey,
      charge: box.dataset.transaction, clientSecret: box.dataset.clientSecret
    }).then(done, function (error) { failed(error); done(); });
  }
});
