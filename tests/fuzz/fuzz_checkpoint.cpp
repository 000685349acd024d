// tests/fuzz/fuzz_checkpoint.cpp: model files as `cpusim model info`, `eval` and `model import`
// read them: cpusim checkpoints (torch's zip archive with cpusim's record), safetensors exports
// and the paper's torch.save checkpoints. The input's first byte picks the reader.
#include <cstdint>
#include <string>

#include "common/io.h"
#include "model/api.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string ext = data[0] % 3 == 0 ? "pt" : data[0] % 3 == 1 ? "safetensors" : "pth";
  const auto path = fuzz::write_input("model." + ext, data + 1, size - 1).string();
  try {
    switch (data[0] % 3) {
      case 0: {
        (void)model::model_info(path);
        model::Simulator sim(path, "cpu", 1, "fp32");
        (void)sim.describe();
        break;
      }
      default: {
        isa::Config c = isa::default_config(isa::Profile::bgpt);
        c.memory_size = 64;
        model::import_model(path, c, 0, (fuzz::scratch() / "imported.pt").string(),
                            data[0] & 8 ? "pad" : "bin");
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
