// @kvsieve/eval loads resvg (a native Node module) lazily to draw PNG plots; the playground never
// draws them, and a browser bundle cannot hold a .node binary, so the import resolves here and
// fails the way a missing package would (eval then keeps its SVG).
throw new Error('@resvg/resvg-js (PNG plots) is not available in the browser playground');
