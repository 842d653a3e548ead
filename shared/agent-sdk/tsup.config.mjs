import { sdkPackageConfig } from '../../scripts/tsup-package.mjs';

export default sdkPackageConfig({ platform: 'node', target: 'node20' });
