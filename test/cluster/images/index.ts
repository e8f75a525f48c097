// The image side of the process kubelet: materialize an image by following its Dockerfile, then
// run containers from it.
export { materializeImage, type MaterializeOptions } from './materialize.ts';
export {
  runInImage,
  execInContainer,
  containerEnv,
  SETUP_FAILED,
  type RunInImageOptions,
} from './run-in-image.ts';
export { containerArgv, type ImageLayout, type Mount } from './layout.ts';
export { THIRD_PARTY_IMAGES, describeThirdPartyImages } from './third-party-images.ts';
export { ourImages } from './our-images.ts';
