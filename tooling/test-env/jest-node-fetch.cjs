// jest runs test files as CommonJS in a VM without --experimental-vm-modules, where gaxios'
// `await import('node-fetch')` (the Google client libraries' HTTP layer) cannot run. jest.config
// transpiles gaxios so that import becomes a require of this module: Node's own fetch, which
// is what node-fetch v3 stands in for. Processes the tests start (the CLI) use the real gaxios.
module.exports = { __esModule: true, default: globalThis.fetch.bind(globalThis) };
