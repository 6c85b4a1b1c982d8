// django-celery-beat's periodic-task admin form (its inline script, moved here for the CSP):
// under the crontab field, show the chosen schedule in words.
(function () {
  "use strict";
  const $ = django.jQuery;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = document.getElementById("periodic-task-overrides").dataset.crontabHelp || "";

  function updateCrontabHelp(additional) {
    const help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"));
    help.append(document.createTextNode("Translation: " + additional));
  }

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
})();
