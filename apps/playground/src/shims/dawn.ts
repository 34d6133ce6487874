// kernels-webgpu reaches Dawn (the Node `webgpu` package) only when navigator.gpu is absent; in a
// page that path must not pull a native module into the bundle, so `webgpu` resolves here.
export function create(): never {
  throw new Error(
    'Dawn (the Node webgpu package) is not available in a browser; this page uses navigator.gpu',
  );
}
export const globals = {};
