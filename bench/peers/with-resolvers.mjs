// Restate's SDK calls Promise.withResolvers (Node 22); on Node 20 every call fails and is retried forever.
Promise.withResolvers ??= function withResolvers() {
  let resolve, reject;
  const promise = new this((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};
