// Starts Redoc (redoc.standalone.js, loaded just before) on #redoc with the
// contract the element names. Every option here is about the page's
// Content-Security-Policy, which admits this server only.
'use strict';

(function () {
  const el = document.getElementById('redoc');
  window.Redoc.init(el.dataset.specUrl, {
    // Redoc puts its styles in <style> elements, which the policy admits
    // by the nonce of this answer; the nonce stays readable only here.
    nonce: document.currentScript.nonce,
    // Search runs in a Worker made from a blob: URL, which the policy does
    // not admit; the sidebar lists every operation anyway.
    disableSearch: true,
  }, el);
})();
