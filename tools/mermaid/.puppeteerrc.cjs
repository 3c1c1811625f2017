// Puppeteer must not download a browser (only the npm registry is reachable): the diagrams are
// rendered with Debian's Chromium (package `chromium`, installed by .ci/setup).
module.exports = {
  skipDownload: true,
  executablePath: "/usr/bin/chromium",
};
