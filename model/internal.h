// model/internal.h: the trainer's and simulator's parts in one include (batches, loss, optimizer,
// checkpoints, device), for model/'s own files, its tests and benchmarks. Includes torch; never
// included outside model/, tests/ and bench/.
#pragma once

#include "model/batch.h"
#include "model/checkpoint.h"
#include "model/device.h"
#include "model/loss.h"
#include "model/optim.h"
