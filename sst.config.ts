/// <reference path="./.sst/platform/config.d.ts" />
export default $config({
  app(input) {
    return {
      name: "umami-db",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      providers: { aws: "7.48.0", postgresql: "3.18.1", random: "4.21.2" },
    };
  },
  async run() {
    return {};
  },
});
