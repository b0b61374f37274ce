declare module 'node-gyp-build' {
  function nodeGypBuild(directory: string): unknown;
  export = nodeGypBuild;
}
