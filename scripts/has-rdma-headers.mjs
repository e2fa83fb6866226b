// Prints 1 when the C++ compiler finds rdma-core's headers (libibverbs-dev, librdmacm-dev), else 0.
// binding.gyp uses it to build the verbs layer only where it can.
import { spawnSync } from 'node:child_process';

const probe = '#include <infiniband/verbs.h>\n#include <rdma/rdma_cma.h>\n';
const compiler = process.env.CXX || 'c++';
// The same flags the build uses (a cross build points at the headers this way).
const flags = (process.env.CXXFLAGS ?? '').split(/\s+/).filter(Boolean);
const result = spawnSync(compiler, [...flags, '-E', '-x', 'c++', '-'], {
  input: probe,
  stdio: ['pipe', 'ignore', 'ignore'],
});
console.log(result.status === 0 ? 1 : 0);
